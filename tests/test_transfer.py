"""Transfer learning helpers against torch and torchvision: features equal torchvision's
feature extractor, a replaced head has the shapes of a torchvision model built for the new
number of classes, and a frozen backbone neither moves nor changes the head's gradients."""

from __future__ import annotations

import copy

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models.feature_extraction import create_feature_extractor

from lecturepkg.models import DigitsLeNet
from lecturepkg.transfer import (
    extract_features,
    freeze,
    replace_head,
    trainable_parameters,
    unfreeze,
)


def _resnet18(num_classes=1000):
    torch.manual_seed(0)
    return torchvision.models.resnet18(weights=None, num_classes=num_classes)


@pytest.mark.parametrize("layer", ["layer2", "layer3.1.bn2", "avgpool", "fc"])
def test_features_equal_torchvision_feature_extractor(layer):
    model = _resnet18()
    model.train()  # extract_features must switch to eval mode and back
    x = torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    got = extract_features(model, x, layer, batch_size=2)  # three uneven batches
    assert model.training
    oracle = create_feature_extractor(copy.deepcopy(model).eval(), {layer: "out"})
    with torch.no_grad():
        expected = oracle(x)["out"].flatten(1)
    assert got.shape == expected.shape and got.shape[0] == 5
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_features_of_digits_lenet_equal_its_own_layers():
    torch.manual_seed(0)
    model = DigitsLeNet(num_classes=5)
    x = torch.rand(7, 1, 8, 8)
    model.eval()
    with torch.no_grad():
        conv = model.features(x).flatten(1)  # (7, 256)
        hidden = model.classifier[:4](conv)  # (7, 128), after the ReLU
    torch.testing.assert_close(extract_features(model, x, "features"), conv)
    torch.testing.assert_close(extract_features(model, x, "classifier.3"), hidden)
    assert extract_features(model, x, "features.2").shape == (7, 32 * 4 * 4)


def test_features_are_deterministic_in_eval_mode_despite_dropout():
    torch.manual_seed(0)
    model = DigitsLeNet(dropout=0.5)
    x = torch.rand(16, 1, 8, 8)
    first = extract_features(model, x, "classifier.2")
    assert torch.equal(first, extract_features(model, x, "classifier.2"))
    assert not first.requires_grad


def test_extract_features_rejects_bad_input():
    model = DigitsLeNet()
    x = torch.rand(2, 1, 8, 8)
    with pytest.raises(ValueError, match="layer must name a submodule.*'nope'"):
        extract_features(model, x, "nope")
    with pytest.raises(TypeError, match="layer must be a str"):
        extract_features(model, x, 3)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        extract_features(model, x.numpy(), "features")
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        extract_features(lambda t: t, x, "features")
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        extract_features(model, x, "features", batch_size=0)
    shared = nn.ReLU()
    twice = nn.Sequential(nn.Linear(4, 4), shared, nn.Linear(4, 4), shared)
    with pytest.raises(ValueError, match="must run once per forward pass"):
        extract_features(twice, torch.rand(3, 4), "1")
    with pytest.raises(ValueError, match="must run once"):  # torchvision reuses its ReLUs
        extract_features(_resnet18(), torch.rand(1, 3, 32, 32), "layer3.1.relu")


def test_replaced_head_matches_torchvision_built_for_the_new_classes():
    model = _resnet18(1000)
    before = {k: v.clone() for k, v in model.state_dict().items() if not k.startswith("fc.")}
    head = replace_head(model, 7)  # the last nn.Linear: "fc"
    assert model.fc is head
    reference = _resnet18(7).state_dict()
    ours = model.state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in reference.items()}
    for key, value in before.items():  # everything else is untouched
        assert torch.equal(ours[key], value), key
    assert model(torch.rand(2, 3, 32, 32)).shape == (2, 7)


def test_replace_head_by_name_inside_sequential_and_keeps_bias_dtype_and_init():
    torch.manual_seed(0)
    model = DigitsLeNet(num_classes=52).double()
    new = replace_head(model, 10, layer="classifier.4")
    assert model.classifier[4] is new and new.weight.dtype == torch.float64
    assert (new.in_features, new.out_features) == (128, 10) and new.bias is not None
    # nn.Linear's default init: uniform within 1 / sqrt(in_features)
    assert new.weight.abs().max() <= 128 ** -0.5
    assert model(torch.rand(3, 1, 8, 8, dtype=torch.float64)).shape == (3, 10)
    nobias = nn.Sequential(nn.Linear(4, 3, bias=False))
    assert replace_head(nobias, 2).bias is None


def test_replace_head_rejects_bad_input():
    with pytest.raises(ValueError, match="layer 'features' must be an nn.Linear"):
        replace_head(DigitsLeNet(), 3, layer="features")
    with pytest.raises(ValueError, match="no nn.Linear"):
        replace_head(nn.Sequential(nn.Conv2d(1, 2, 3)), 3)
    with pytest.raises(TypeError, match="num_classes must be an int"):
        replace_head(DigitsLeNet(), 2.0)
    with pytest.raises(ValueError, match="num_classes must be >= 1"):
        replace_head(DigitsLeNet(), 0)


def test_frozen_backbone_does_not_move_and_head_gradients_equal_a_fixed_feature_model():
    torch.manual_seed(0)
    model = DigitsLeNet(num_classes=4, dropout=0.0)
    freeze(model.features)
    assert [p.requires_grad for p in model.features.parameters()] == [False] * 4
    trainable = trainable_parameters(model)
    assert [p.shape for p in trainable] == [p.shape for p in model.classifier.parameters()]
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 4, (8,))
    frozen = {k: v.clone() for k, v in model.features.state_dict().items()}

    # oracle: the head alone, trained on features computed once, as constants
    head = copy.deepcopy(model.classifier)
    with torch.no_grad():
        fixed = model.features(x)
    nn.functional.cross_entropy(head(fixed), y).backward()

    optimizer = torch.optim.SGD(trainable, lr=0.5)
    loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()
    assert all(p.grad is None for p in model.features.parameters())
    for ours, oracle in zip(model.classifier.parameters(), head.parameters()):
        torch.testing.assert_close(ours.grad, oracle.grad)
    optimizer.step()
    for key, value in model.features.state_dict().items():
        assert torch.equal(value, frozen[key]), key

    unfreeze(model.features)
    assert len(trainable_parameters(model)) == len(list(model.parameters()))


def test_freeze_rejects_non_modules():
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        freeze(torch.zeros(3))
    with pytest.raises(TypeError, match="module must be a torch.nn.Module"):
        unfreeze([nn.Linear(2, 2)])
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        trainable_parameters(None)
