"""Grading tests of exercise ``roi_align_single``: RoIAlign of one region on one feature map.

Oracle: ``torchvision.ops.roi_align`` (the region given as a batch of one, the map as a batch
of one image) on random float64 feature maps and boxes, with and without ``aligned``, at
several spatial scales, sampling ratios and output sizes, including regions smaller than a
pixel and regions that leave the map on every side.
"""

import pytest
import torch
from torchvision.ops import roi_align

from lecturepkg.grading.feedback import expect_array, expect_raises
from lecturepkg.grading.runtime import input_rng

EXERCISE = "roi_align_single"


def oracle(features, box, output_size, spatial_scale=1.0, sampling_ratio=2, aligned=False):
    return roi_align(features[None], [box[None]], output_size, spatial_scale, sampling_ratio, aligned)[0]


def random_map(rng, C, H, W, dtype=torch.float64):
    return torch.from_numpy(rng.normal(size=(C, H, W))).to(dtype)


def random_box(rng, image_h, image_w, smallest=0.2, outside=0.0):
    """A box in image coordinates, corners up to ``outside`` (a share of the image) beyond
    its borders."""
    w = rng.uniform(smallest, image_w * (0.6 + outside))
    h = rng.uniform(smallest, image_h * (0.6 + outside))
    x1 = rng.uniform(-outside * image_w, image_w * (1 + outside) - w)
    y1 = rng.uniform(-outside * image_h, image_h * (1 + outside) - h)
    return torch.tensor([x1, y1, x1 + w, y1 + h], dtype=torch.float64)


def check_cases(submission, rng, aligned, cases, outside=0.0, smallest=0.2):
    for (C, H, W), output_size, spatial_scale, sampling_ratio in cases:
        features = random_map(rng, C, H, W)
        for _ in range(4):
            box = random_box(rng, H / spatial_scale, W / spatial_scale, smallest * 1 / spatial_scale, outside)
            args = (features, box, output_size, spatial_scale, sampling_ratio, aligned)
            expect_array(submission(*args), oracle(*args),
                         what=f"RoIAlign of the box {[round(v, 3) for v in box.tolist()]} on a {C} x {H} x {W} "
                              f"map with output_size={output_size}, spatial_scale={spatial_scale}, "
                              f"sampling_ratio={sampling_ratio}, aligned={aligned}")


CASES = [((2, 8, 10), (2, 3), 1.0, 2), ((1, 12, 9), 7, 0.5, 2), ((3, 6, 6), (3, 2), 0.25, 1),
         ((2, 9, 7), (4, 4), 0.5, 3)]


@pytest.mark.points(2)
def test_random_regions_match_torchvision(submission):
    check_cases(submission, input_rng(5401), False, CASES)


@pytest.mark.points(2)
def test_random_regions_aligned(submission):
    check_cases(submission, input_rng(5402), True, CASES)


@pytest.mark.points(2)
def test_regions_that_leave_the_map(submission):
    rng = input_rng(5403)
    for aligned in (False, True):
        check_cases(submission, rng, aligned, [((2, 7, 8), (3, 3), 1.0, 2), ((1, 6, 5), (2, 4), 0.5, 2)],
                    outside=0.4)


@pytest.mark.points(1)
def test_regions_smaller_than_a_pixel(submission):
    rng = input_rng(5404)
    for aligned in (False, True):
        check_cases(submission, rng, aligned, [((2, 8, 8), (2, 2), 1.0, 2), ((1, 10, 6), (3, 1), 0.5, 1)],
                    smallest=0.05)


@pytest.mark.points(1)
def test_float32_stays_float32(submission):
    rng = input_rng(5405)
    features = random_map(rng, 2, 8, 8, torch.float32)
    box = random_box(rng, 8, 8).float()
    expect_array(submission(features, box, (2, 2), 1.0, 2, True), oracle(features, box, (2, 2), 1.0, 2, True),
                 check_dtype="exact", what="RoIAlign of a float32 map")


@pytest.mark.points(1)
def test_bad_inputs_raise_value_error(submission):
    rng = input_rng(5406)
    features, box = random_map(rng, 2, 6, 6), random_box(rng, 6, 6)
    for args, what in [((features[0], box, 2), "a map of shape (6, 6), without its channel axis"),
                       ((features, box[:3], 2), "a box of 3 numbers"),
                       ((features, box, (0, 2)), "output_size (0, 2)"),
                       ((features, box, 2, 1.0, 0), "sampling_ratio 0")]:
        expect_raises(ValueError, submission, *args, what=f"roi_align_single with {what}")
