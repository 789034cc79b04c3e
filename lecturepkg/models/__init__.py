"""Network definitions used in the course, one architecture per module."""

from lecturepkg.models.charcnn import CharCNN
from lecturepkg.models.cnn3d import CNN3d
from lecturepkg.models.fcn import FCN
from lecturepkg.models.lenet import DigitsLeNet, LeNet5
from lecturepkg.models.mnist_convnet import MnistConvNet
from lecturepkg.models.resnets_cifar import CifarResNet, cifar_resnet
from lecturepkg.models.tcn import TCN, CausalConv1d, TemporalBlock
from lecturepkg.models.unets import UNet, center_crop, unet, unet_output_size

__all__ = ["DigitsLeNet", "LeNet5", "MnistConvNet", "FCN", "CharCNN", "CNN3d", "TCN",
           "CausalConv1d", "TemporalBlock",
           "CifarResNet", "cifar_resnet",
           "UNet", "unet", "center_crop", "unet_output_size"]
