"""toxpro: diagnose Toxic Proactivity in LLM agents."""

__version__ = "0.1.0"
