"""paste_masks_in_image of lecturepkg.detection against torchvision's.

Oracle: ``torchvision.models.detection.roi_heads.paste_masks_in_image`` on random masks and
boxes (inside the image, partly outside it, tiny, and none), with several paddings.
"""

from __future__ import annotations

import pytest
import torch
from torchvision.models.detection import roi_heads as tv_roi

from lecturepkg.detection.masks import paste_masks_in_image

H, W = 37, 52

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


def random_boxes(n, max_side=40.0):
    """Boxes centred in the image, with sides up to ``max_side``: many reach outside it.

    (torchvision's function fails on boxes entirely outside the image, which its model never
    produces: detections are clipped to the image.)
    """
    centre = torch.rand(n, 2, dtype=torch.float64) * torch.tensor([W, H], dtype=torch.float64)
    half = torch.rand(n, 2, dtype=torch.float64) * max_side / 2
    return torch.cat([centre - half, centre + half], dim=1)


@pytest.mark.parametrize("padding", [0, 1, 3])
@pytest.mark.parametrize("m", [14, 28])
def test_equals_torchvisions_on_random_boxes(padding, m):
    # boxes inside the image, partly outside it (negative corners, beyond W and H) and tiny
    boxes = torch.cat([random_boxes(20), random_boxes(6, max_side=0.8)])
    masks = torch.rand(len(boxes), 1, m, m, dtype=torch.float64)
    expected = tv_roi.paste_masks_in_image(masks, boxes, (H, W), padding=padding)
    got = paste_masks_in_image(masks, boxes, (H, W), padding=padding)
    assert got.shape == (len(boxes), 1, H, W)
    assert got.dtype == masks.dtype
    torch.testing.assert_close(got, expected, rtol=0, atol=0)
    partly_outside = (boxes[:, :2] < 0).any(1) | (boxes[:, 2] >= W) | (boxes[:, 3] >= H)
    assert partly_outside.sum() >= 3 and (~partly_outside).sum() >= 3


def test_float32_and_a_box_covering_the_image_equal_torchvisions():
    boxes = torch.tensor([[-10.0, -5.0, 70.0, 50.0], [3.2, 4.7, 3.9, 5.1]])
    masks = torch.rand(2, 1, 28, 28)
    expected = tv_roi.paste_masks_in_image(masks, boxes, (H, W))
    torch.testing.assert_close(paste_masks_in_image(masks, boxes, (H, W)), expected)
    assert (expected[0] > 0).all()  # the first box covers every pixel


def test_empty_input_gives_an_empty_batch_of_images():
    got = paste_masks_in_image(torch.zeros(0, 1, 28, 28), torch.zeros(0, 4), (H, W))
    expected = tv_roi.paste_masks_in_image(torch.zeros(0, 1, 28, 28), torch.zeros(0, 4), (H, W))
    assert got.shape == expected.shape == (0, 1, H, W)


def test_pixels_outside_the_box_are_zero_and_inside_follow_the_mask():
    boxes = torch.tensor([[10.0, 5.0, 29.0, 24.0]])
    ones = paste_masks_in_image(torch.ones(1, 1, 28, 28), boxes, (H, W), padding=0)[0, 0]
    inside = torch.zeros(H, W, dtype=torch.bool)
    inside[5:25, 10:30] = True  # 20 x 20 pixels: x2 - x1 + 1 columns, y2 - y1 + 1 rows
    torch.testing.assert_close(ones[inside], torch.ones(400))
    assert ones[~inside].eq(0).all()


def test_bad_inputs_raise():
    boxes = torch.tensor([[1.0, 1.0, 5.0, 5.0]])
    with pytest.raises(ValueError, match=r"masks must have shape \(N, 1, M, M\)"):
        paste_masks_in_image(torch.rand(1, 28, 28), boxes, (H, W))
    with pytest.raises(ValueError, match=r"masks must have shape \(N, 1, M, M\)"):
        paste_masks_in_image(torch.rand(1, 1, 28, 14), boxes, (H, W))
    with pytest.raises(TypeError, match="masks must have a floating dtype"):
        paste_masks_in_image(torch.ones(1, 1, 28, 28, dtype=torch.uint8), boxes, (H, W))
    with pytest.raises(ValueError, match="boxes must hold one box per mask"):
        paste_masks_in_image(torch.rand(2, 1, 28, 28), boxes, (H, W))
    with pytest.raises(ValueError, match=r"boxes must have shape \(N, 4\)"):
        paste_masks_in_image(torch.rand(1, 1, 28, 28), boxes[:, :3], (H, W))
    with pytest.raises(ValueError, match="finite"):
        paste_masks_in_image(torch.rand(1, 1, 28, 28), boxes * float("nan"), (H, W))
    with pytest.raises(TypeError, match="img_shape"):
        paste_masks_in_image(torch.rand(1, 1, 28, 28), boxes, 37)
    with pytest.raises(ValueError, match="padding must be >= 0"):
        paste_masks_in_image(torch.rand(1, 1, 28, 28), boxes, (H, W), padding=-1)
