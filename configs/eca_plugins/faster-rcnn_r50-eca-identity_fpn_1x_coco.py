# ECA inserted into MMDetection's stock Faster R-CNN R-50, starting as the
# identity. The stock config's ImageNet weights (torchvision's plain
# ResNet-50, no ECA) fill every tensor but the ECA weights; the ECA gate,
# 2 * sigmoid(conv1d(.)) with a zero weight, is exactly 1 at the first step,
# so the detector starts as the stock one and the attention learns from
# there (mmdet_eca/layers/identity_gate.py, docs/transfer_study.md). For
# ECA-pretrained weights use ../faster_rcnn_ecanet50_fpn_1x_coco.py: they
# need the paper's gate (identity_init=False).
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    '../_base_/eca_runtime.py'
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(
    backbone=dict(
        # after conv3 of every bottleneck, the paper's adaptive k of each
        # stage's channels (256..2048): 5, 5, 5, 7
        plugins=[
            dict(cfg=dict(type='ECA', identity_init=True, inplace=True),
                 position='after_conv3')
        ]))
