"""lecturepkg: the tested reference code of the open course on convolutional neural networks.

Subpackages follow the course: :mod:`lecturepkg.conv` (convolution from scratch and its
arithmetic), :mod:`lecturepkg.blocks` (the building blocks of chapter 3),
:mod:`lecturepkg.models`, :mod:`lecturepkg.interpret` (explanation methods and their
evaluation), :mod:`lecturepkg.detection` (Mask R-CNN's parts), :mod:`lecturepkg.data`,
:mod:`lecturepkg.viz`, :mod:`lecturepkg.grading`; top-level modules hold the shared tools
(:mod:`~lecturepkg.device`, :mod:`~lecturepkg.seed`, :mod:`~lecturepkg.train`,
:mod:`~lecturepkg.counting`, :mod:`~lecturepkg.metrics`, :mod:`~lecturepkg.transfer`,
:mod:`~lecturepkg.status`).
"""

from lecturepkg.device import get_device, page_threads, torch_threads
from lecturepkg.seed import seed_everything

__version__ = "0.1.0"
__all__ = ["get_device", "page_threads", "torch_threads", "seed_everything", "__version__"]
