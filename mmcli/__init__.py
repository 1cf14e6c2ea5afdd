"""mmcli: one command line for multimodal LLMs."""

__version__ = "0.1.0"
