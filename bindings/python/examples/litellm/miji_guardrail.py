# LiteLLM loads custom guardrails from a file next to its config (`guardrail: <file>.<Class>`);
# this one re-exports miji's guardrail from the installed package.
from miji.integrations.litellm import MijiGuardrail

__all__ = ["MijiGuardrail"]
