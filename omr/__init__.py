"""omr: turns pixels into readings. Never imports ``grading``."""

__all__ = ["__version__"]
__version__ = "0.1.0"            # the one version string: setup.cfg reads it (version = attr: omr.__version__)
