"""CurtailCoin: Bitcoin mining potential of Great Britain's curtailed wind energy."""

__version__ = "0.1.0"
