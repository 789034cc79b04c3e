"""AlexNet and VGG against torchvision, torchvision's weights metadata and the 2012 paper.

The oracle for every torchvision-compatible builder is torchvision itself: torchvision's
randomly initialised model's state_dict must load into ours with ``strict=True`` (same keys,
same shapes), and then both must give the same outputs in eval mode on random inputs, and the
same gradients. Parameter and multiply-accumulate counts must equal the figures torchvision
publishes with its ImageNet weights (``meta["num_params"]``, ``meta["_ops"]`` in GMACs at
224 x 224), which are readable offline without downloading the weights.

The paper's two-GPU AlexNet has no torchvision twin; its oracle is a functional forward pass
written out below with two explicit GPU "towers" and the paper's local response
normalization formula, plus the parameter count of the paper's layers, 60,965,224 (the
paper rounds it to "60 million"; the count is recomputed here from Figure 2's layer sizes),
and Figure 2's map sizes.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
import torchvision

import lecturepkg.models as models
from lecturepkg.counting import count_macs, count_parameters, layer_stats
from lecturepkg.models.alexnets import GroupedLocalResponseNorm

BUILDERS = ["alexnet", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19",
            "vgg19_bn"]


def meta(name: str) -> dict:
    return torchvision.models.get_model_weights(name).IMAGENET1K_V1.meta


def twins(name: str, generator: torch.Generator, **kwargs):
    """torchvision's model with random weights and ours with the same weights, loaded strictly.

    Both are built on the meta device (no initialisation cost: VGG has over 130 million
    weights) and then given memory; torchvision's gets scaled Gaussian weights and, for the
    ``_bn`` variants, non-trivial running statistics, so that eval mode tests them.
    """
    with torch.device("meta"):
        theirs = getattr(torchvision.models, name)(**kwargs)
        ours = getattr(models, name)(**kwargs)
    theirs.to_empty(device="cpu")
    with torch.no_grad():
        for p in theirs.parameters():
            fan_in = p[0].numel() if p.ndim > 1 else 1
            scale = (2.0 / fan_in) ** 0.5 if p.ndim > 1 else 0.1
            p.copy_(torch.randn(p.shape, generator=generator) * scale)
        for m in theirs.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.add_(1.0)
                m.running_mean.copy_(torch.randn(m.num_features, generator=generator) * 0.1)
                m.running_var.copy_(torch.rand(m.num_features, generator=generator) + 0.5)
                m.num_batches_tracked.zero_()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: v.shape for k, v in theirs.state_dict().items()
    }
    ours.to_empty(device="cpu")
    ours.load_state_dict(theirs.state_dict(), strict=True)
    return ours, theirs


@pytest.mark.parametrize("name", BUILDERS)
def test_torchvision_weights_load_strictly_and_outputs_agree(name):
    g = torch.Generator().manual_seed(1)
    ours, theirs = twins(name, g, num_classes=10)
    # adaptive pooling takes small inputs (AlexNet needs 63 x 63, VGG 32 x 32)
    x = torch.randn(2, 3, *((64, 72) if name == "alexnet" else (48, 40)), generator=g)
    with torch.no_grad():
        expected = theirs.eval()(x)
        torch.testing.assert_close(ours.eval()(x), expected)
    assert expected.abs().max() > 1e-3  # not a trivially zero output


@pytest.mark.parametrize("name", ["alexnet", "vgg11_bn"])
def test_gradients_agree(name):
    g = torch.Generator().manual_seed(2)
    # dropout 0 so that training mode (batch statistics for the _bn variant) is deterministic
    ours, theirs = twins(name, g, num_classes=5, dropout=0.0)
    ours.train(), theirs.train()
    x = torch.randn(3, 3, *((63, 64) if name == "alexnet" else (40, 32)), generator=g)
    x_ours, x_theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    weight = torch.randn(3, 5, generator=g)
    (ours(x_ours) * weight).sum().backward()
    (theirs(x_theirs) * weight).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_theirs.grad)
    grads = dict(theirs.named_parameters())
    for key, p in ours.named_parameters():
        torch.testing.assert_close(p.grad, grads[key].grad, msg=key)
    # the batch statistics updated in training mode agree too
    buffers = dict(theirs.named_buffers())
    for key, b in ours.named_buffers():
        torch.testing.assert_close(b, buffers[key], msg=key)


@pytest.mark.parametrize("name", BUILDERS)
def test_parameter_and_mac_counts_equal_torchvision_metadata(name):
    # built on the meta device: shapes only, so counting at 224 x 224 costs no arithmetic
    with torch.device("meta"):
        model = getattr(models, name)()
    assert count_parameters(model) == meta(name)["num_params"]
    assert round(count_macs(model, (3, 224, 224)) / 1e9, 3) == meta(name)["_ops"]


def test_meta_device_counts_equal_real_counts():
    """The meta-device shortcut above counts what a real forward pass counts."""
    with torch.device("meta"):
        on_meta = models.VGG(config=[8, "M", 16, 16, "M"], num_classes=7)
    real = models.VGG(config=[8, "M", 16, 16, "M"], num_classes=7)
    assert count_macs(on_meta, (3, 40, 40)) == count_macs(real, (3, 40, 40))
    assert count_parameters(on_meta) == count_parameters(real)


def test_vgg_configs_are_the_papers_weight_layers():
    # Table 1 of Simonyan & Zisserman: convolutions + 3 fully connected layers
    depth = {k: sum(v != "M" for v in cfg) + 3 for k, cfg in models.VGG_CONFIGS.items()}
    assert depth == {"A": 11, "B": 13, "D": 16, "E": 19}
    for cfg in models.VGG_CONFIGS.values():
        assert cfg.count("M") == 5 and cfg[-1] == "M"
    # the config of each builder, read back from the modules it built
    for name, key in [("vgg11", "A"), ("vgg13_bn", "B"), ("vgg16", "D"), ("vgg19_bn", "E")]:
        with torch.device("meta"):
            model = getattr(models, name)()
        read = [m.out_channels if isinstance(m, torch.nn.Conv2d) else "M"
                for m in model.features if isinstance(m, (torch.nn.Conv2d, torch.nn.MaxPool2d))]
        assert read == models.VGG_CONFIGS[key]
        assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.features) == (
            name.endswith("_bn"))


def test_custom_config_and_channels():
    model = models.VGG(1, 4, config=[8, "M", 16, 16, "M"], batch_norm=True).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 1, 4, 4)).shape == (2, 4)
    assert model.classifier[0].in_features == 16 * 7 * 7
    with pytest.raises(ValueError, match=r"at least 4 x 4"):
        model(torch.randn(1, 1, 3, 8))


# --- the paper's two-GPU AlexNet -------------------------------------------------------------


def lrn_paper(a, n=5, k=2.0, alpha=1e-4, beta=0.75):
    """Section 3.3: b_i = a_i / (k + alpha * sum_{j=i-n/2}^{i+n/2} a_j^2)^beta, written out."""
    channels = a.shape[1]
    out = torch.empty_like(a)
    for i in range(channels):
        lo, hi = max(0, i - n // 2), min(channels - 1, i + n // 2)
        s = (a[:, lo : hi + 1] ** 2).sum(dim=1)
        out[:, i] = a[:, i] / (k + alpha * s) ** beta
    return out


def two_gpu_alexnet(x, p, lrn=lrn_paper):
    """The paper's Figure 2 with each GPU's half computed separately and joined by hand.

    ``p`` maps layer names to full (joined) weights; each tower uses its half of them.
    """
    def towers(inputs, name, split_input, **kw):
        w, b = p[f"{name}.weight"], p[f"{name}.bias"]
        half = w.shape[0] // 2
        outs = []
        for gpu in range(2):
            source = inputs[gpu] if split_input else torch.cat(inputs, dim=1)
            outs.append(F.conv2d(source, w[gpu * half : (gpu + 1) * half],
                                 b[gpu * half : (gpu + 1) * half], **kw))
        return outs

    def each(f, xs):
        return [f(t) for t in xs]

    pool = lambda t: F.max_pool2d(t, 3, 2)  # noqa: E731
    h = towers([x, x], "features.0", split_input=True, stride=4)  # both GPUs see the image
    h = each(pool, each(lrn, each(F.relu, h)))  # 2 x (N, 48, 27, 27)
    h = each(pool, each(lrn, each(F.relu, towers(h, "features.4", True, padding=2))))
    h = each(F.relu, towers(h, "features.8", False, padding=1))  # layer 3 sees both GPUs
    h = each(F.relu, towers(h, "features.10", True, padding=1))
    h = each(pool, each(F.relu, towers(h, "features.12", True, padding=1)))  # 2 x (N, 128, 6, 6)
    h = torch.cat(h, dim=1).flatten(1)  # (N, 9216)
    h = F.relu(F.linear(h, p["classifier.1.weight"], p["classifier.1.bias"]))
    h = F.relu(F.linear(h, p["classifier.4.weight"], p["classifier.4.bias"]))
    return F.linear(h, p["classifier.6.weight"], p["classifier.6.bias"])


def test_paper_alexnet_parameter_count():
    # Figure 2's layers: (outputs, inputs seen per kernel, kernel size); layers 2, 4 and 5
    # see only their own GPU's half of the previous maps
    convs = [(96, 3, 11), (256, 48, 5), (384, 256, 3), (384, 192, 3), (256, 192, 3)]
    dense = [(4096, 256 * 6 * 6), (4096, 4096), (1000, 4096)]
    by_hand = sum(o * (i * k * k + 1) for o, i, k in convs) + sum(o * (i + 1) for o, i in dense)
    assert by_hand == 60_965_224  # "60 million" in the paper
    assert count_parameters(models.alexnet2012()) == by_hand


def test_paper_alexnet_map_sizes_of_figure_2():
    rows = layer_stats(models.alexnet2012(), (3, 227, 227))
    convs = [r.output_shape for r in rows if r.kind == "Conv2d"]
    assert convs == [(96, 55, 55), (256, 27, 27), (384, 13, 13), (384, 13, 13), (256, 13, 13)]
    assert [r.output_shape for r in rows if r.kind == "MaxPool2d"][-1] == (256, 6, 6)
    # kernel depths of the paper's text: 48 for layer 2 (one GPU's maps), 256 for layer 3
    with torch.device("meta"):
        model = models.alexnet2012()
    kernels = [m.weight.shape for m in model.features if isinstance(m, torch.nn.Conv2d)]
    assert kernels == [(96, 3, 11, 11), (256, 48, 5, 5), (384, 256, 3, 3), (384, 192, 3, 3),
                       (256, 192, 3, 3)]


def test_paper_alexnet_matches_two_gpu_oracle_forward_and_backward():
    torch.manual_seed(3)
    model = models.alexnet2012(num_classes=7).double().eval()
    g = torch.Generator().manual_seed(4)
    x = torch.randn(1, 3, 227, 227, generator=g, dtype=torch.float64) * 10
    x_ours, x_ref = x.clone().requires_grad_(), x.clone().requires_grad_()
    params = {k: v.detach().clone().requires_grad_() for k, v in model.named_parameters()}
    expected = two_gpu_alexnet(x_ref, params)
    got = model(x_ours)
    torch.testing.assert_close(got, expected)
    weight = torch.randn(1, 7, generator=g, dtype=torch.float64)
    (got * weight).sum().backward()
    (expected * weight).sum().backward()
    torch.testing.assert_close(x_ours.grad, x_ref.grad)
    for key, p in model.named_parameters():
        torch.testing.assert_close(p.grad, params[key].grad, msg=key)


def test_lrn_matters_in_the_oracle():
    """The oracle's LRN is not a no-op at these activations (else the test above is weak)."""
    a = torch.rand(1, 8, 3, 3, dtype=torch.float64) * 30
    assert (lrn_paper(a) - a).abs().max() > 0.1 * a.abs().max()


def test_grouped_lrn_normalizes_each_half_separately():
    g = torch.Generator().manual_seed(6)
    a = torch.rand(2, 12, 4, 5, generator=g, dtype=torch.float64) * 30
    lrn = GroupedLocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0, groups=2)
    expected = torch.cat([lrn_paper(a[:, :6]), lrn_paper(a[:, 6:])], dim=1)
    torch.testing.assert_close(lrn(a), expected)
    # one window across all 12 maps differs next to the boundary between the halves
    assert not torch.allclose(lrn(a)[:, 4:8], lrn_paper(a)[:, 4:8])
    with pytest.raises(ValueError, match="13 channels do not split into 2 groups"):
        lrn(torch.zeros(1, 13, 2, 2))


# --- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILDERS)
def test_weights_must_be_none_and_the_error_says_how_to_load_torchvisions(name):
    with pytest.raises(ValueError, match=rf"weights must be None.*torchvision\.models\.{name}\("):
        getattr(models, name)(weights="IMAGENET1K_V1")
    with pytest.raises(TypeError, match="progress must be a bool"):
        getattr(models, name)(progress="yes")


@pytest.mark.parametrize(
    "make, error, match",
    [
        (lambda: models.vgg16(config="A"), TypeError, "unexpected keyword argument 'config'"),
        (lambda: models.vgg16(batch_norm=True), TypeError, "unexpected keyword argument"),
        (lambda: models.VGG(config="C"), ValueError, r"config must be one of \['A', 'B', 'D'"),
        (lambda: models.VGG(config=[]), TypeError, "config must be a key of VGG_CONFIGS"),
        (lambda: models.VGG(config=["M"]), ValueError, "at least one convolution"),
        (lambda: models.VGG(config=[64, "N"]), TypeError, r"config\[1\] must be an int"),
        (lambda: models.VGG(config=[64, 0]), ValueError, r"config\[1\] must be >= 1"),
        (lambda: models.vgg11(dropout=1.0), ValueError, r"dropout must be in \[0, 1\)"),
        (lambda: models.vgg11(init_weights=1), TypeError, "init_weights must be a bool"),
        (lambda: models.vgg11(num_classes=0), ValueError, "num_classes must be >= 1"),
        (lambda: models.alexnet(dropout="0.5"), TypeError, "dropout must be a float"),
        (lambda: models.alexnet2012(dropout=-0.1), ValueError, r"dropout must be in \[0, 1\)"),
        (lambda: models.alexnet(num_classes=2.0), TypeError, "num_classes must be an int"),
    ],
)
def test_bad_constructor_arguments(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_too_small_inputs_name_the_minimum():
    with pytest.raises(ValueError, match=r"at least 63 x 63 .* got \(62, 80\)"):
        models.alexnet(num_classes=2)(torch.zeros(1, 3, 62, 80))
    with torch.no_grad():  # 63 is enough: the last max pooling sees 3 x 3
        assert models.alexnet(num_classes=2)(torch.zeros(1, 3, 63, 63)).shape == (1, 2)
    with pytest.raises(RuntimeError):  # and torchvision's own network fails at 62
        torchvision.models.alexnet(num_classes=2)(torch.zeros(1, 3, 62, 80))
    with torch.device("meta"):  # the check comes before any arithmetic
        vgg = models.vgg11(num_classes=2)
    with pytest.raises(ValueError, match=r"at least 32 x 32 .* got \(31, 40\)"):
        vgg(torch.zeros(1, 3, 31, 40, device="meta"))
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3, 227, 227\)"):
        models.alexnet2012()(torch.zeros(1, 3, 224, 224))
