"""Shared fixtures for the training tests: one tiny real run on ``digits``."""

import pytest
import torch

from codesign.training import TrainConfig, train

torch.set_num_threads(1)


def tiny_config(**kw) -> TrainConfig:
    """A tiny MLP on digits: trains in about a second."""
    base = dict(
        dataset="digits",
        model="mlp",
        hidden_units=(32,),
        method="sparse-ternary",
        epochs=2,
        retrain_epochs=1,
        reg_strength=1e-2,
        capture=20.0,
        lr=1e-2,
        batch_size=64,
        seed=3,
    )
    base.update(kw)
    return TrainConfig(**base)


@pytest.fixture(scope="session")
def tiny_run():
    return train(tiny_config())
