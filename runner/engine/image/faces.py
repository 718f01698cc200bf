"""Finding faces with OpenCV's bundled Haar cascade (frontal faces)."""

from functools import cache

import cv2
import cv2.data
import numpy as np

from runner.engine.image.engine import Box, Frame

CASCADE_FILE = "haarcascade_frontalface_default.xml"
# Detection runs on a copy no larger than this: faces stay well above the detector's 24 px
# window in any portrait, and a 50 MP photo takes milliseconds instead of seconds.
DETECTION_SIDE_PX = 800
MIN_FACE_PX = 24  # the cascade's own window; smaller faces cannot be found anyway
SCALE_STEP = 1.1  # between detection scales: finer finds more faces, slower
MIN_NEIGHBOURS = 5  # overlapping detections needed to count: fewer means more false faces


def largest_face(frame: Frame) -> Box | None:
    """The box (left, top, right, bottom) of the largest frontal face, or None."""
    grey, scale = _detection_copy(frame)
    found = _cascade().detectMultiScale(
        cv2.equalizeHist(grey), scaleFactor=SCALE_STEP, minNeighbors=MIN_NEIGHBOURS,
        minSize=(MIN_FACE_PX, MIN_FACE_PX),
    )  # fmt: skip
    if len(found) == 0:
        return None
    x, y, width, height = max(found, key=lambda face: int(face[2]) * int(face[3]))
    return (
        round(x / scale),
        round(y / scale),
        round((x + width) / scale),
        round((y + height) / scale),
    )


def _detection_copy(frame: Frame) -> tuple[np.ndarray, float]:
    """A greyscale array of the frame at most DETECTION_SIDE_PX on a side, and its scale."""
    grey = np.asarray(frame.convert("L"))
    scale = min(1.0, DETECTION_SIDE_PX / max(frame.size))
    if scale < 1.0:
        size = (max(1, round(frame.width * scale)), max(1, round(frame.height * scale)))
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    return grey, scale


@cache  # loading the cascade takes tens of milliseconds; one per process is enough
def _cascade() -> cv2.CascadeClassifier:
    classifier = cv2.CascadeClassifier(cv2.data.haarcascades + CASCADE_FILE)
    if classifier.empty():
        raise RuntimeError(f"OpenCV's {CASCADE_FILE} is missing from {cv2.data.haarcascades}")
    return classifier
