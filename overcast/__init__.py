"""overcast: the serverless cloud on your own machine."""

__version__ = "0.1.0"
