"""The seed's preprocessing functions (../shared/seed/3D_image_classification.md), verbatim but for
the target size being a parameter. Shared by make_fixtures.py and reference_preprocess.py."""
from scipy import ndimage


def normalize(volume):
    """The seed's normalize(), verbatim."""
    min = -1000
    max = 400
    volume[volume < min] = min
    volume[volume > max] = max
    volume = (volume - min) / (max - min)
    volume = volume.astype("float32")
    return volume


def rotate(img):
    """The seed's 90° rotation (first half of resize_volume)."""
    return ndimage.rotate(img, 90, reshape=False)


def zoom(img, desired_width, desired_height, desired_depth):
    """The seed's resize (second half of resize_volume), with the target size as parameters."""
    depth_factor = 1 / (img.shape[-1] / desired_depth)
    width_factor = 1 / (img.shape[0] / desired_width)
    height_factor = 1 / (img.shape[1] / desired_height)
    return ndimage.zoom(img, (width_factor, height_factor, depth_factor), order=1)


def resize_volume(img, desired_width, desired_height, desired_depth):
    """The seed's resize_volume(): rotate, then zoom."""
    return zoom(rotate(img), desired_width, desired_height, desired_depth)
