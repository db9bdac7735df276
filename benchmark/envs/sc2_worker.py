"""The child-process side of the `sc2` backend: one SMAC-like game served over a pipe.

A worker builds its game with an injectable factory (SMAC's StarCraft2Env by default, a fake in tests),
then answers one request at a time. Every answer is ("ok", payload) or ("failed", reason); the parent
restarts a worker whose game failed, so nothing here tries to recover.

The worker leads its own process group, so that the parent can kill it together with the StarCraft II
process that pysc2 starts beneath it, even when the worker itself is stuck.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

Factory = Callable[..., Any]


def smac_env(**kwargs: Any) -> Any:
    """The default factory; imported here so that the parent process never loads SMAC or pysc2."""
    from smac.env import StarCraft2Env

    return StarCraft2Env(**kwargs)


def serve(conn: Connection, factory: Factory, kwargs: dict[str, Any]) -> None:
    """The worker's main loop: build the game, say hello with its sizes, then answer requests."""
    os.setsid()
    # The parent's shutdown sends SIGTERM; exiting through `finally` lets SMAC close its game.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    env = None
    try:
        env = factory(**kwargs)
        conn.send(("ok", _sizes(env)))
        while True:
            try:
                command, argument = conn.recv()
            except EOFError:  # the parent is gone
                return
            if command == "close":
                return
            conn.send(_answer(env, command, argument))
    except Exception as err:  # a game that cannot even be built: report why, then stop
        _send_quietly(conn, ("failed", _describe(err)))
    finally:
        if env is not None:
            env.close()


def _answer(env: Any, command: str, argument: Any) -> tuple[str, Any]:
    restarts_before = getattr(env, "force_restarts", 0)
    try:
        payload = _reset(env) if command == "reset" else _step(env, argument)
    except Exception as err:
        return "failed", _describe(err)
    # SMAC catches a lost connection to the game itself, relaunches it and carries on with a made-up step
    # (reward 0, terminated, empty info); that episode is not a real one, so it is reported as a failure.
    if getattr(env, "force_restarts", 0) != restarts_before:
        return "failed", "SMAC relaunched StarCraft II after a protocol error"
    return "ok", payload


def _reset(env: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    env.reset()
    return _observe(env)


def _step(env: Any, actions: list[int]) -> tuple[Any, ...]:
    reward, terminated, info = env.step(actions)
    if "dead_allies" not in info:
        raise RuntimeError("SMAC returned a step without battle information")
    outcome = (float(reward), bool(terminated), bool(info.get("battle_won", False)), float(info["dead_allies"]),
               float(info["dead_enemies"]), bool(info.get("episode_limit", False)))
    return outcome + _observe(env)


def _observe(env: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    obs = np.asarray(env.get_obs(), dtype=np.float32)
    state = np.asarray(env.get_state(), dtype=np.float32)
    avail = np.asarray(env.get_avail_actions(), dtype=bool)
    return obs, state, avail


def _sizes(env: Any) -> dict[str, int]:
    info = env.get_env_info()
    keys = ("n_agents", "n_actions", "obs_shape", "state_shape", "episode_limit")
    return {**{k: int(info[k]) for k in keys}, "n_enemies": int(env.n_enemies)}


def _describe(err: BaseException) -> str:
    """The exception's last line plus where it was raised: enough to tell a bad install from a crash."""
    frame = traceback.extract_tb(err.__traceback__)[-1] if err.__traceback__ else None
    where = f" (at {os.path.basename(frame.filename)}:{frame.lineno})" if frame else ""
    return f"{type(err).__name__}: {str(err).strip().splitlines()[0] if str(err).strip() else ''}{where}"


def _send_quietly(conn: Connection, message: tuple[str, Any]) -> None:
    try:
        conn.send(message)
    except (OSError, ValueError):
        pass
