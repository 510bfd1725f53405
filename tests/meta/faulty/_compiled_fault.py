"""Shared helper for the planted compiled targets: conv_oracle's own compiled target
(:class:`conv_oracle.targets.compiled.Compiled`) with an Inductor graph pass that plants a fault in the
generated code only (``post_grad_custom_post_pass``): eager torch never sees it, so the suite catches it
only if it checks what the compiled code computes."""

from __future__ import annotations

import torch
from torch._inductor.custom_graph_pass import CustomGraphPass

from conv_oracle.targets.compiled import Compiled


class PlantedPass(CustomGraphPass):
    """Calls ``plant(graph, node)`` for every node whose target is one of ``ops`` (and ``when(graph)``)."""

    def __init__(self, name: str, ops, plant, when=lambda graph: True):
        self.name, self.ops, self.plant, self.when = name, tuple(ops), plant, when

    def __call__(self, graph: torch.fx.Graph) -> None:
        if not self.when(graph):
            return
        for node in list(graph.nodes):
            if node.op == "call_function" and node.target in self.ops:
                self.plant(graph, node)

    def uuid(self):  # Inductor's FX graph cache keys on it
        return f"conv_oracle-planted-{self.name}"


def add_one(graph: torch.fx.Graph, node) -> None:
    """Every output value of ``node`` plus one."""
    with graph.inserting_after(node):
        bad = graph.call_function(torch.ops.aten.add.Tensor, (node, 1))
    node.replace_all_uses_with(bad, delete_user_cb=lambda user: user is not bad)
    bad.meta.update(node.meta)


def double_weight_grad(graph: torch.fx.Graph, node) -> None:
    """``convolution_backward``'s weight gradient (output 1) doubled."""
    import operator
    for user in list(node.users):
        if user.target is operator.getitem and user.args[1] == 1:
            with graph.inserting_after(user):
                bad = graph.call_function(torch.ops.aten.mul.Tensor, (user, 2))
            user.replace_all_uses_with(bad, delete_user_cb=lambda u: u is not bad)
            bad.meta.update(user.meta)


def has_symbolic_shapes(graph: torch.fx.Graph) -> bool:
    for node in graph.nodes:
        val = node.meta.get("val")
        if isinstance(val, torch.Tensor) and any(isinstance(d, torch.SymInt) for d in val.shape):
            return True
    return False


def functions(modes, planted: PlantedPass) -> dict:
    """The six conv functions, compiled in ``modes`` with ``planted`` in Inductor's post-grad passes."""
    return Compiled(modes, options={"post_grad_custom_post_pass": planted}).functions()
