"""Planted faulty targets: each module wraps torch.nn.functional with one realistic defect."""
