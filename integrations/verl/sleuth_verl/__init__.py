"""sleuth as verl's environment: tools and rewards over `sleuth serve --env`.

Tools (verl BaseTool subclasses, named in verl's tool-config YAML):
``sleuth_verl.tools.SearchTool``, ``BrowseTool``, ``CropTool``.
Reward: ``reward.custom_reward_function.path`` = this package's
``reward.py``, ``name`` = ``compute_score``.

The server's address comes from the tool config (``config.url``) or the
``SLEUTH_ENV_URL`` environment variable (default http://127.0.0.1:8003);
an API key, when the server wants one, from ``SLEUTH_ENV_KEY``.
"""

from .client import EnvClient, EnvError

__all__ = ["EnvClient", "EnvError"]
