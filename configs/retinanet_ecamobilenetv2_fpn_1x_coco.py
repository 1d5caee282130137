# RetinaNet with an ECA-MobileNetV2 backbone: MMDetection's own
# retinanet_r50_fpn_1x_coco with the backbone swapped, the FPN given its
# channels, and mmdet_eca's runtime (checked runs, see
# _base_/eca_runtime.py).
_base_ = [
    'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py',
    './_base_/eca_runtime.py'
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))

model = dict(
    backbone=dict(
        # replace, not merge: ResNet's depth, num_stages, style don't apply
        _delete_=True,
        type='ECAMobileNetV2',
        # the released weights' sizes (eca_mobilenetv2_k13): k = 1 below 96
        # output channels, 3 from 96 on
        eca_kernel_sizes='1111333',
        # layer2, layer3, layer5 and the final 1x1 conv: strides 4 to 32,
        # the strides of ResNet's four outputs
        out_indices=(1, 2, 4, 7),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=True,
        # converted with tools/convert_eca_weights.py (see README); the
        # unconverted eca_mobilenetv2_k13.pth.tar loads as well
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/eca_mobilenetv2_k13_mmdet.pth')),
    # FPN keeps start_level=1: it reads the stride 8, 16, 32 outputs
    neck=dict(in_channels=[24, 32, 96, 1280]))
