"""Generate a skill's JSON Schemas, manifest and spec templates from its pydantic config, and detect drift.

Generic over networks: the skill's ``references/skill_info.yaml`` names the config entry point
(``config_entry: module:function`` returning ``{action: pydantic model}``) and the actions to emit.
"""

from tao_skill.schemagen.generate import GENERATOR_VERSION, build_outputs, check, generate

__all__ = ["GENERATOR_VERSION", "build_outputs", "check", "generate"]
