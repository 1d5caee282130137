# Faster R-CNN on RegNetX-3.2GF with ECA after conv3 of every block:
# MMDetection's own faster-rcnn_regnetx-3.2GF_fpn_1x_coco with the ECA plugin
# added to its backbone, and mmdet_eca's runtime (checked runs, see
# _base_/eca_runtime.py). The backbone loads MMDetection's ImageNet RegNet
# weights, which have no ECA (see docs/add_eca.md).
_base_ = [
    'mmdet::regnet/faster-rcnn_regnetx-3.2GF_fpn_1x_coco.py',
    '../_base_/eca_runtime.py'
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(
    backbone=dict(
        # adaptive k of each stage's channels (96, 192, 432, 1008): 3, 5, 5, 5
        plugins=[
            dict(cfg=dict(type='ECA', inplace=True), position='after_conv3')
        ]))
