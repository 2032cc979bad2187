"""`python -m toxpro.cli`: the toxpro command line."""

from . import app

app()
