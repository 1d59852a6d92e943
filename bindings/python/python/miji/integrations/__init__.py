"""Adapters that plug miji into other tools (``miji.integrations.litellm``). Each imports its
tool on import: install the tool first."""
