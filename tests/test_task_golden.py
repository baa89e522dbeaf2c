"""Algorithm 1 and the benchmark trial give, through the task interface, exactly the numbers the
code gave before tasks existed (docs/tasks.md: the paper's settings and every stored result stay
as they were).

The expected values were computed with the same calls at commit a746251, the last commit before
``symalr.tasks``: a small Algorithm-1 fitness of the catalog's Adam on ``mnist_cnn`` and one
one-epoch benchmark trial of Sign. Accuracies and training losses are exact float comparisons:
the data split, the initial weights, the shuffling and the arithmetic must all be unchanged.
The test loss is a float32 sum over 10,000 images in batches of 1,000, whose summation order
follows the CPU's kernels (it differed in the 8th digit between two VMs): it is compared to
1e-7 relative.
"""

from __future__ import annotations

import pytest

from symalr import catalog
from symalr.bench import trials
from symalr.bench.config import BenchConfig
from symalr.train.candidate import evaluate_spec
from symalr.train.config import FitnessConfig


def test_algorithm1_fitness_is_unchanged():
    config = FitnessConfig(dataset="fashion-mnist", model="mnist_cnn", splits=(1000, 300, 300),
                           n_evaluations=2, max_epochs=2, seed=3, threads=1, min_accuracy=0.0)
    result = evaluate_spec(catalog.get("adam"), config)
    assert result.accuracies == (0.4633333333333333, 0.49)
    assert result.epochs == (2, 2)
    assert result.fitness == 0.4633333333333333


def test_benchmark_trial_is_unchanged():
    config = BenchConfig(dataset="fashion-mnist", optimizers=("adam",), train_size=600,
                         val_size=300, tune_calls=0, trials=1, trial_epochs=1, seed=0,
                         split_seed=1)
    training, test_accuracy, test_loss = trials.trial(trials.load_setup(config),
                                                      catalog.get("sign"), 1, 5)
    assert training.val_accuracy == 0.4633333333333333
    assert [round(e["loss"], 10) for e in training.curve] == [round(2.3068313598632812, 10)]
    assert training.curve[0]["val_loss"] == 2.162290242513021
    assert test_accuracy == 0.4519
    assert test_loss == pytest.approx(2.1613207275390627, rel=1e-7, abs=0)
