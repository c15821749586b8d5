"""Hydra search-path plugin: puts verl's config folder (``pkg://verl.trainer.config``) on every Hydra search path.

The project's presets start from verl's ``ppo_trainer`` config. Hydra reads ``hydra.searchpath`` from the primary
config only, so a preset that set it could not be included by another preset (Hydra refuses: "Overriding
hydra.searchpath is only supported from the primary config"); a plugin adds the folder once for all of them, and
the offline presets compose the online preset they mirror. Hydra finds the plugin through the ``hydra_plugins``
namespace package, installed with the project (pyproject.toml).
"""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

VERL_CONFIG = "pkg://verl.trainer.config"


class VerlConfigSearchPath(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="verl", path=VERL_CONFIG)
