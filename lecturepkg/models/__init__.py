"""Network definitions used in the course, one architecture per module."""

from lecturepkg.models.lenet import DigitsLeNet, LeNet5
from lecturepkg.models.mnist_convnet import MnistConvNet

__all__ = ["DigitsLeNet", "LeNet5", "MnistConvNet"]
