"""robust-qmix: QMIX and robust training methods under state-adversarial attacks on SMAC."""

__version__ = "0.1.0"
