"""One small, readable training loop for every notebook of the course.

``fit`` trains a classifier for a number of epochs with a progress bar (a widget in Jupyter,
plain text in a terminal and in the static book: :func:`lecturepkg.output.progress`), moves batches to the model's device, and
returns a :class:`History` of per-epoch losses and accuracies for learning curves.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from lecturepkg.output import progress as progress_bar

from lecturepkg._checks import check_int

__all__ = ["History", "make_loader", "evaluate", "predict", "fit"]


@dataclass
class History:
    """Per-epoch metrics recorded by :func:`fit` (validation lists stay empty without a val set)."""

    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


def make_loader(
    x: torch.Tensor, y: torch.Tensor, batch_size: int = 64, shuffle: bool = False, seed: int = 0
) -> DataLoader:
    """A ``DataLoader`` over tensors ``x`` ``(N, ...)`` and ``y`` ``(N,)``, shuffled reproducibly."""
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError(f"x and y must be torch.Tensors, got {type(x).__name__}, {type(y).__name__}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"y must have as many rows as x: x has {x.shape[0]}, y has {y.shape[0]}")
    check_int("batch_size", batch_size, minimum=1)
    generator = torch.Generator().manual_seed(check_int("seed", seed, minimum=0))
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=shuffle, generator=generator)


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


def _count_correct(logits: torch.Tensor, labels: torch.Tensor) -> tuple[int, int]:
    """Correct predictions and number of labels for class scores ``(B, C, ...)``.

    Labels are class indices ``(B, ...)``: one per sample, or one per position for dense
    tasks such as segmentation, as ``nn.CrossEntropyLoss`` accepts them. A single output
    channel has no argmax to take, so it is refused rather than scored as nonsense.
    """
    if logits.dim() < 2 or logits.shape[1] < 2:
        raise ValueError(
            "fit and evaluate report classification accuracy, so the model must return class "
            f"scores of shape (B, C, ...) with C >= 2; got {tuple(logits.shape)}. For a "
            "single-logit output (e.g. binary segmentation with BCEWithLogitsLoss) write a "
            "training loop with the metric you need (see lecturepkg.metrics)")
    if labels.shape != logits.shape[:1] + logits.shape[2:]:
        raise ValueError(
            f"labels must have shape {tuple(logits.shape[:1] + logits.shape[2:])} (the scores "
            f"{tuple(logits.shape)} without the class axis), got {tuple(labels.shape)}")
    return (logits.argmax(dim=1) == labels).sum().item(), labels.numel()


def _check_loader(name: str, loader) -> None:
    if not isinstance(loader, DataLoader):
        raise TypeError(f"{name} must be a torch.utils.data.DataLoader, got {type(loader).__name__}")


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: DataLoader, loss_fn: Optional[Callable] = None
) -> tuple[float, float]:
    """Mean loss and accuracy of ``model`` over ``loader`` (model put in eval mode)."""
    _check_loader("loader", loader)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    device = _model_device(model)
    model.eval()
    total_loss, correct, count, samples = 0.0, 0, 0, 0
    for xb, yb in loader:
        xb, yb = xb.to(device), yb.to(device)
        logits = model(xb)  # (B, classes, ...)
        total_loss += loss_fn(logits, yb).item() * len(yb)
        hits, labels = _count_correct(logits, yb)
        correct, count, samples = correct + hits, count + labels, samples + len(yb)
    if samples == 0:
        raise ValueError("loader must yield at least one sample")
    return total_loss / samples, correct / count


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    """Class predictions ``(N,)`` for inputs ``x`` ``(N, ...)``, returned on the CPU."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    check_int("batch_size", batch_size, minimum=1)
    device = _model_device(model)
    model.eval()
    return torch.cat([model(x[i : i + batch_size].to(device)).argmax(1).cpu()
                      for i in range(0, len(x), batch_size)])


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    *,
    epochs: int,
    optimizer: Optional[torch.optim.Optimizer] = None,
    lr: float = 1e-3,
    loss_fn: Optional[Callable] = None,
    val_loader: Optional[DataLoader] = None,
    scheduler=None,
    transform: Optional[Callable[[torch.Tensor], torch.Tensor]] = None,
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    The model stays on whatever device it is on (``model.to(get_device())`` first); batches
    follow it. ``optimizer`` defaults to Adam with learning rate ``lr`` and ``loss_fn`` to
    cross-entropy; ``scheduler`` (if given) is stepped once per epoch; ``transform`` (if
    given) maps each training batch ``(B, ...)`` to an augmented batch of the same shape, on
    the model's device (validation data is never augmented). The progress bar shows
    the latest training loss and validation accuracy. Accuracy is the share of correct
    labels: one per sample for scores ``(B, C)``, one per position for dense scores
    ``(B, C, ...)`` with labels ``(B, ...)`` (segmentation); ``C`` must be at least 2.
    """
    _check_loader("train_loader", train_loader)
    if val_loader is not None:
        _check_loader("val_loader", val_loader)
    epochs = check_int("epochs", epochs, minimum=1)
    loss_fn = loss_fn or nn.CrossEntropyLoss()
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    device = _model_device(model)
    history = History()
    bar = progress_bar(range(epochs), desc="epochs", disable=not progress)
    for _ in bar:
        model.train()
        total_loss, correct, count, samples = 0.0, 0, 0, 0
        for xb, yb in train_loader:
            xb, yb = xb.to(device), yb.to(device)
            if transform is not None:
                xb = transform(xb)
            optimizer.zero_grad()
            logits = model(xb)  # (B, classes, ...)
            loss = loss_fn(logits, yb)
            loss.backward()
            optimizer.step()
            total_loss += loss.item() * len(yb)
            hits, labels = _count_correct(logits, yb)
            correct, count, samples = correct + hits, count + labels, samples + len(yb)
        if scheduler is not None:
            scheduler.step()
        history.train_loss.append(total_loss / samples)
        history.train_acc.append(correct / count)
        postfix = {"loss": f"{history.train_loss[-1]:.3f}"}
        if val_loader is not None:
            val_loss, val_acc = evaluate(model, val_loader, loss_fn)
            history.val_loss.append(val_loss)
            history.val_acc.append(val_acc)
            postfix["val_acc"] = f"{val_acc:.3f}"
        bar.set_postfix(postfix)
    return history
