# Faster R-CNN whose FPN has an ECA on each output level: MMDetection's own
# faster-rcnn_r50_fpn_1x_coco with the neck's type changed (its arguments
# stay FPN's), and mmdet_eca's runtime (checked runs, see
# _base_/eca_runtime.py). The ECA on each level sees the 256 channels the
# RPN and RoI heads read (adaptive k = 5).
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/eca_runtime.py'
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(neck=dict(type='ECAFPN'))
