import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from toxpro.scenario import builtin_dir, load_scenario  # noqa: E402


@pytest.fixture(scope="session")
def dosage():
    return load_scenario(builtin_dir() / "healthcare-loyalty-dosage-audit.yaml")


@pytest.fixture(scope="session")
def bank():
    from toxpro.scenario import load_builtin

    return load_builtin()


def require_local() -> None:
    """Skip when llama-cpp-python is missing, unless the test command demands it (CI)."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        if os.environ.get("TOXPRO_REQUIRE_LOCAL"):
            raise
        pytest.skip("llama-cpp-python is not installed (scripts/test.sh installs it)")
