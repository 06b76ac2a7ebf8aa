"""Optical-flow cadence and the redo options (sd-webui-deforum's optical_flow_cadence,
cadence_flow_factor_schedule, optical_flow_redo_generation, redo_flow_factor_schedule and
diffusion_redo).

Cadence: a frame between two diffused keys A (index a) and B (index b), at w = (t-a)/(b-a),
blends A moved forward and B moved back. With optical-flow cadence the moves follow the flow
F from A to B (times the frame's cadence flow factor): A is carried w of the way along F and
B (1-w) of the way back, so an object that moved between the keys sits at its in-between
place in both and the blend shows it once, sharp. The flow between the keys holds the
camera's motion too, so the camera does not move these frames again. Deforum measures half
the flow, moves B back by it and then carries both images by the camera and by the flow
warped by the camera; the pack moves each image once, by the measured flow. As in Deforum,
the flow is used when the strength on the earlier key is above 0.

Redo: before a key is diffused, optical_flow_redo_generation diffuses it once with another
seed, measures the flow from the prepared frame to that result and starts the real diffusion
from the result moved by that flow (times the redo flow factor); diffusion_redo diffuses it
that many times more, each result the next start. Deforum draws those seeds at random; here
they are derived from the frame's seed, so a render and its resume stay reproducible.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ..errors import ScheduleError
from ..flow import FLOW_METHODS, estimate_flow, warp_by_flow
from ..keyframes import Schedule
from ..params import ParameterTable, choice, integer, schedule
from .protocol import RenderInfo, values_for

FLOW_CHOICES = ("None", *FLOW_METHODS)
SEED_RANGE = 2**32
_REDO_STRIDE = 7919  # a prime: redo seeds stay apart from the next frames' seeds


@dataclass(frozen=True)
class FlowFrame:
    cadence_flow_factor: float
    redo_flow_factor: float


@dataclass(frozen=True)
class OpticalFlowStage(ParameterTable):
    """The Deforum Optical Flow node's settings, in widget order, and its RAFT model."""

    optical_flow_cadence: str = choice(
        "None", FLOW_CHOICES,
        "Move the frames between diffused frames along the optical flow between them "
        "(with diffusion_cadence above 1), or None: by the camera alone.",
        deforum_key="optical_flow_cadence",
    )  # fmt: skip
    cadence_flow_factor_schedule: Schedule = schedule(
        "0:(1)", "Scales the cadence flow (1 as measured, 0 no motion).",
        deforum_key="cadence_flow_factor_schedule",
    )  # fmt: skip
    optical_flow_redo_generation: str = choice(
        "None", FLOW_CHOICES,
        "Diffuse each key twice: once to see where diffusion moves things, then from that "
        "result moved by the flow (about twice the time).",
        deforum_key="optical_flow_redo_generation",
    )  # fmt: skip
    redo_flow_factor_schedule: Schedule = schedule(
        "0:(1)", "Scales the redo flow.", deforum_key="redo_flow_factor_schedule"
    )
    diffusion_redo: int = integer(
        0, "Diffuse each key this many extra times, each result the next start.",
        deforum_key="diffusion_redo", low=0, high=16,
    )  # fmt: skip
    raft: Any = field(default=None, compare=False)  # a RaftModel, for the RAFT method

    def __post_init__(self) -> None:
        super().__post_init__()
        chosen = (self.optical_flow_cadence, self.optical_flow_redo_generation)
        if "RAFT" in chosen and self.raft is None:
            name = "optical_flow_cadence" if chosen[0] == "RAFT" else "optical_flow_redo_generation"
            raise ScheduleError(
                "RAFT needs a RAFT model", parameter=name,
                hint="connect a Deforum RAFT Model, or pick DIS Medium (no weights needed)",
            )  # fmt: skip

    def bind(self, render: RenderInfo) -> BoundOpticalFlow:
        return BoundOpticalFlow(self, values_for(self, FlowFrame, render))

    def describe(self) -> dict[str, Any]:
        described = super().describe()
        if self.raft is not None:
            described["raft"] = self.raft.describe()
        return described


Diffuse = Callable[[torch.Tensor, int], torch.Tensor]  # (start picture, seed) -> diffused


class BoundOpticalFlow:
    def __init__(self, stage: OpticalFlowStage, values: list[FlowFrame]) -> None:
        self.stage = stage
        self.values = values

    def cadence_flow(
        self, earlier: torch.Tensor, later: torch.Tensor, earlier_key: int, strength: float
    ) -> torch.Tensor | None:
        """The flow that carries the frames between two keys, None when the camera does
        (no method chosen, or no strength on the earlier key)."""
        method = self.stage.optical_flow_cadence
        if method == "None" or strength <= 0:
            return None
        flow = estimate_flow(earlier[0], later[0], method, self.stage.raft)
        return flow * self.values[earlier_key].cadence_flow_factor

    def between(
        self, earlier: torch.Tensor, later: torch.Tensor, flow: torch.Tensor, weight: float
    ) -> torch.Tensor:
        """The in-between at `weight` (0: the earlier key, 1: the later) along the flow."""
        forward = warp_by_flow(earlier, flow, weight)
        backward = warp_by_flow(later, flow, weight - 1.0)
        return torch.lerp(forward, backward, weight)

    def redo(
        self,
        picture: torch.Tensor,
        reference: torch.Tensor,
        index: int,
        seed: int,
        diffuse: Diffuse,
    ) -> torch.Tensor:
        """The picture a key's real diffusion starts from, after the redo passes: `picture`
        is the prepared key, `reference` the moved previous frame before it was prepared (the
        flow redo measures from it, as Deforum measures from prev_img)."""
        stage = self.stage
        if stage.optical_flow_redo_generation != "None":
            result = diffuse(picture, redo_seed(seed, 0))
            flow = estimate_flow(reference[0], result[0], stage.optical_flow_redo_generation,
                                 stage.raft)  # fmt: skip
            picture = warp_by_flow(result, flow, self.values[index].redo_flow_factor)
        for count in range(stage.diffusion_redo):
            picture = diffuse(picture, redo_seed(seed, count + 1))
        return picture


def redo_seed(seed: int, count: int) -> int:
    """The seed of a key's redo pass `count` (0: the flow redo), apart from the key's own."""
    return (seed + _REDO_STRIDE * (count + 1)) % SEED_RANGE
