# Faster R-CNN with an ECA-ResNet-50 backbone: MMDetection's own
# faster-rcnn_r50_fpn_1x_coco with the backbone swapped
# and mmdet_eca's runtime (checked runs, see _base_/eca_runtime.py).
_base_ = [
    'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py',
    './_base_/eca_runtime.py'
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(
    backbone=dict(
        type='ECAResNet',
        depth=50,
        # the released ImageNet weights' kernel sizes (eca_resnet50_k3557)
        eca_kernel_sizes='3557',
        # converted with tools/convert_eca_weights.py (see README)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/eca_resnet50_k3557_mmdet.pth')))
