"""`tao-skill preflight`: visible GPUs, a training-memory estimate and free disk for a planned job."""

from __future__ import annotations

import click

from tao_skill.cli.options import request_from, spec_options
from tao_skill.errors import EXIT_OK


def register(cli: click.Group) -> None:
    @cli.command("preflight")
    @click.argument("network")
    @click.argument("action", default="train")
    @spec_options
    @click.pass_obj
    def preflight_cmd(app, network: str, action: str, json_mode: bool, **kw) -> int:
        """Check this machine against the planned job (same flags as `run`): visible GPUs, their memory and
        compute capability against the spec's GPU keys, the network's training-memory estimate, free disk
        for checkpoints, and the skill's GPU guidance. Findings are warnings (errors when the launch would
        fail, e.g. a GPU index that does not exist); nothing is refused and nothing runs. Exit 0.
        """
        from tao_skill.plan import prepare  # noqa: PLC0415
        from tao_skill.preflight import human, preflight  # noqa: PLC0415

        app.json_mode = json_mode
        req = request_from(network, action, kw)
        req.automl_policy = "off"  # the plan of the training itself, not of a study
        prep = prepare(req)
        report = preflight(prep.skill, action, prep.spec, prep.results_dir)
        app.emit({"ok": True, "network": prep.plan["network"], "action": action, "preflight": report},
                 human(report))
        return EXIT_OK
