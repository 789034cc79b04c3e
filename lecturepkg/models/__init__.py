"""Network definitions used in the course, one architecture per module."""

from lecturepkg.models.alexnets import AlexNet, AlexNet2012, alexnet, alexnet2012
from lecturepkg.models.charcnn import CharCNN
from lecturepkg.models.cnn3d import CNN3d
from lecturepkg.models.fcn import FCN
from lecturepkg.models.gapnets import GapNet, train_gapnet
from lecturepkg.models.googlenets import GoogLeNet, GoogLeNetOutputs, InceptionAux, googlenet
from lecturepkg.models.lenet import DigitsLeNet, LeNet5
from lecturepkg.models.mnist_convnet import MnistConvNet
from lecturepkg.models.resnets import ResNet, resnet18, resnet34, resnet50, resnet101, resnet152
from lecturepkg.models.resnets_cifar import CifarResNet, cifar_resnet
from lecturepkg.models.tcn import TCN, CausalConv1d, TemporalBlock
from lecturepkg.models.unets import UNet, center_crop, unet, unet_output_size
from lecturepkg.models.vggs import (
    VGG, VGG_CONFIGS, make_layers, vgg11, vgg11_bn, vgg13, vgg13_bn, vgg16, vgg16_bn, vgg19,
    vgg19_bn,
)

__all__ = ["DigitsLeNet", "LeNet5", "MnistConvNet", "FCN", "CharCNN", "CNN3d", "TCN",
           "CausalConv1d", "TemporalBlock",
           "GoogLeNet", "GoogLeNetOutputs", "InceptionAux", "googlenet",
           "ResNet", "resnet18", "resnet34", "resnet50", "resnet101", "resnet152",
           "CifarResNet", "cifar_resnet",
           "UNet", "unet", "center_crop", "unet_output_size",
           "AlexNet", "alexnet", "AlexNet2012", "alexnet2012",
           "VGG", "VGG_CONFIGS", "make_layers", "vgg11", "vgg11_bn", "vgg13", "vgg13_bn",
           "vgg16", "vgg16_bn", "vgg19", "vgg19_bn",
           "GapNet", "train_gapnet"]
