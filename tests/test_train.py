"""The training loop: it learns, it reports honest metrics, it rejects bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lecturepkg import seed_everything
from lecturepkg.train import History, evaluate, fit, make_loader, predict


def _blobs(n=200):
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 2, (n,), generator=g)
    x = torch.randn(n, 2, generator=g) + 3.0 * y[:, None].float()  # two separable blobs
    return x, y


def test_fit_learns_a_separable_problem_and_records_history():
    seed_everything(0)
    x, y = _blobs()
    model = nn.Linear(2, 2)
    history = fit(model, make_loader(x, y, 32, shuffle=True), epochs=15, lr=0.1,
                  val_loader=make_loader(x, y, 64), progress=False)
    assert isinstance(history, History) and history.epochs == 15
    assert len(history.val_acc) == 15 and len(history.train_acc) == 15
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.val_acc[-1] > 0.95


def test_evaluate_and_predict_agree_with_a_direct_computation():
    x, y = _blobs(70)
    model = nn.Linear(2, 2)
    logits = model(x).detach()
    loss, acc = evaluate(model, make_loader(x, y, batch_size=16))  # uneven last batch
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert acc == pytest.approx((logits.argmax(1) == y).float().mean().item())
    assert torch.equal(predict(model, x, batch_size=16), logits.argmax(1))


def test_fit_is_reproducible_with_a_seed():
    x, y = _blobs()

    def run():
        seed_everything(3)
        model = nn.Linear(2, 2)
        fit(model, make_loader(x, y, 16, shuffle=True, seed=3), epochs=3, progress=False)
        return model.weight.detach().clone()

    assert torch.equal(run(), run())


def test_transform_is_applied_to_training_batches_only():
    x, y = _blobs(40)
    seen = []

    def transform(xb):
        seen.append(xb.shape)
        return torch.zeros_like(xb)  # destroys all information

    model = nn.Linear(2, 2)
    weight, bias = model.weight.detach().clone(), model.bias.detach().clone()
    fit(model, make_loader(x, y, 10), epochs=2, transform=transform, lr=0.1,
        val_loader=make_loader(x, y, 40), progress=False)
    assert seen == [torch.Size([10, 2])] * (2 * 4)  # training batches only, not validation
    # trained on zeros, the gradient of the weights is zero: only the bias can move
    assert torch.equal(model.weight.detach(), weight)
    assert not torch.equal(model.bias.detach(), bias)


def test_bad_input_names_the_argument():
    x, y = _blobs(10)
    with pytest.raises(ValueError, match="y must have as many rows"):
        make_loader(x, y[:5])
    with pytest.raises(TypeError, match="x and y"):
        make_loader(x.numpy(), y)
    with pytest.raises(TypeError, match="train_loader"):
        fit(nn.Linear(2, 2), [(x, y)], epochs=1)
    with pytest.raises(ValueError, match="epochs"):
        fit(nn.Linear(2, 2), make_loader(x, y), epochs=0)
    with pytest.raises(TypeError, match="loader"):
        evaluate(nn.Linear(2, 2), (x, y))
    with pytest.raises(TypeError, match="x must be"):
        predict(nn.Linear(2, 2), x.numpy())


def test_dense_labels_are_scored_per_position():
    # segmentation-like scores (N, C, H, W) with labels (N, H, W): accuracy is the share of
    # correct pixels, loss the mean of cross_entropy over the batches weighted by samples
    g = torch.Generator().manual_seed(1)
    x = torch.randn(10, 3, 5, 4, generator=g)
    y = torch.randint(0, 2, (10, 5, 4), generator=g)
    model = nn.Conv2d(3, 2, kernel_size=1)
    logits = model(x).detach()
    loss, acc = evaluate(model, make_loader(x, y, batch_size=4))  # uneven last batch
    assert loss == pytest.approx(nn.functional.cross_entropy(logits, y).item(), rel=1e-5)
    assert acc == pytest.approx((logits.argmax(1) == y).float().mean().item())
    history = fit(model, make_loader(x, y, batch_size=4), epochs=1, progress=False)
    assert 0.0 <= history.train_acc[0] <= 1.0


def test_single_logit_and_mismatched_labels_are_refused():
    x = torch.randn(8, 3, 4, 4)
    one_logit = nn.Conv2d(3, 1, kernel_size=1)
    loss_fn = nn.BCEWithLogitsLoss()
    masks = torch.randint(0, 2, (8, 1, 4, 4)).float()
    with pytest.raises(ValueError, match=r"class scores of shape \(B, C, \.\.\.\) with C >= 2"):
        fit(one_logit, make_loader(x, masks, 4), epochs=1, loss_fn=loss_fn, progress=False)
    with pytest.raises(ValueError, match=r"labels must have shape \(8, 4, 4\)"):
        evaluate(nn.Conv2d(3, 2, 1), make_loader(x, torch.zeros(8, 4, 5).long(), 8),
                 loss_fn=lambda logits, labels: logits.sum())
