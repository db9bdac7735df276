"""A black-box transfer attack: another run's model (the source) crafts FGSM or PGD perturbations against
its own Q-values, and the evaluated run (the victim) acts on them. The victim is never differentiated;
whether perturbations crafted on one model hurt another is the question the attack answers.

The source is a surrogate of the victim team kept in lock-step with it: at every step it crafts against its
own recurrent state, then advances that state on exactly what the victim acts on (the perturbed
observations and the team's previous actions), and it starts afresh where the runner starts the victim's
(an environment's first step, marked by previous actions all -1).
"""

from __future__ import annotations

from pathlib import Path

import torch

from benchmark.attacks.ball import Victims
from benchmark.attacks.context import AttackContext
from benchmark.attacks.gradient import GradientAttack, step_perturb
from benchmark.attacks.settings import TransferConfig
from benchmark.config import RunConfig, load_run_config
from benchmark.envs.maps import MAPS
from benchmark.errors import UserError
from benchmark.qmix.controller import AgentController
from benchmark.records import CONFIG_FILE
from benchmark.runner import Perturb


def source_dir(options: TransferConfig, run_dir: Path | None) -> Path:
    """The source run's directory: `source` as given if absolute, else relative to the evaluated run's."""
    if not options.source:
        raise UserError("transfer needs source=RUN_DIR, the run whose model crafts the perturbation, e.g. transfer[source=../seed1]")
    path = Path(options.source).expanduser()
    if not path.is_absolute():
        if run_dir is None:
            raise UserError(f"transfer source {options.source!r} is relative, but there is no evaluated run directory to resolve it from")
        path = Path(run_dir) / path
    if not (path / CONFIG_FILE).is_file():
        raise UserError(f"transfer source {options.source!r} ({path}) is not a run directory (no {CONFIG_FILE})")
    if run_dir is not None and path.resolve() == Path(run_dir).resolve():
        raise UserError(f"transfer source {options.source!r} is the evaluated run itself: that is white-box {options.base}, not a transfer")
    return path


def load_source(options: TransferConfig, cfg: RunConfig, run_dir: Path | None, device: torch.device) -> AgentController:
    """The source run's agents, refused unless they play the evaluated run's map (its observation shape)."""
    from benchmark.evaluate import _load_agents  # evaluate imports the attack registry

    path = source_dir(options, run_dir)
    source_cfg = load_run_config(path / CONFIG_FILE)
    if source_cfg.env.map != cfg.env.map:  # checked before its model is read, so that the refusal names the map
        theirs, mine = (MAPS.get(c.env.map).info().obs_shape for c in (source_cfg, cfg))
        raise UserError(
            f"transfer source {options.source!r} was trained on {source_cfg.env.map} ({theirs} observation features), "
            f"the evaluated run on {cfg.env.map} ({mine}): its perturbations are not of the victim's observations"
        )
    return _load_agents(source_cfg, path, device, options.source_model)


def check_transfer(options: TransferConfig, cfg: RunConfig, run_dir: Path) -> None:
    """Every refusal of `load_source`, before an evaluation plays any episode (eps 0 cells included)."""
    load_source(options, cfg, run_dir, torch.device("cpu"))


def transfer_perturb(ctx: AttackContext, victims: Victims) -> Perturb | None:
    options = ctx.options  # a TransferConfig
    if ctx.eps == 0:
        return None
    source = load_source(options, ctx.cfg, ctx.run_dir, ctx.mac.device)
    attack = GradientAttack.fgsm() if options.base == "fgsm" else GradientAttack.pgd(options.steps)
    return lock_step(source, step_perturb(attack, source, ctx.eps, victims, options.clip, ctx.generator))


def lock_step(source: AgentController, craft: Perturb) -> Perturb:
    """`craft` (a perturbation against `source`) given the source's own hidden state instead of the victim's,
    which the runner passes and which is ignored; the source's state then advances on the perturbed
    observations the victim acts on and the previous actions its team took, as the runner advances the
    victim's."""
    hidden: torch.Tensor | None = None

    def perturb(obs: torch.Tensor, prev: torch.Tensor, _victim_hidden: torch.Tensor, avail: torch.Tensor) -> torch.Tensor:
        nonlocal hidden
        hidden = _restarted(source, hidden, prev)
        seen = craft(obs, prev, hidden, avail)
        with torch.no_grad():
            _, hidden = source.step_q(seen, prev, hidden)
        return seen

    return perturb


def _restarted(source: AgentController, hidden: torch.Tensor | None, prev: torch.Tensor) -> torch.Tensor:
    """The source's hidden state [1, B * A, H], set back to the initial one for the environments that start
    an episode (previous actions all -1, as the runner marks them); a batch of another size is all new."""
    fresh = source.initial_hidden(prev.shape[0])
    if hidden is None or hidden.shape != fresh.shape:
        return fresh
    starting = (prev < 0).all(dim=-1).repeat_interleave(prev.shape[-1])  # environment-major, as step_q's rows
    return torch.where(starting.view(1, -1, 1), fresh, hidden)
