# Mask R-CNN on ResNeXt-101 (32x4d) with ECA after conv3 of every
# bottleneck: MMDetection's own mask-rcnn_x101-32x4d_fpn_1x_coco with the ECA
# plugin added to its backbone, and mmdet_eca's runtime (checked runs, see
# _base_/eca_runtime.py). The backbone loads MMDetection's ImageNet ResNeXt
# weights; they have no ECA, whose weights start from PyTorch's default
# initialisation (see docs/add_eca.md on what to expect from that).
_base_ = [
    'mmdet::mask_rcnn/mask-rcnn_x101-32x4d_fpn_1x_coco.py',
    '../_base_/eca_runtime.py'
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(
    backbone=dict(
        # the paper's adaptive k of each stage's channels (256..2048):
        # 5, 5, 5, 7
        plugins=[
            dict(cfg=dict(type='ECA', inplace=True), position='after_conv3')
        ]))
