# RetinaNet with an ECA-MobileNetV2 backbone: MMDetection's own
# retinanet_r50_fpn_1x_coco with the backbone swapped, the FPN given its
# channels, and the learning rate scaled to the batch actually used.
_base_ = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)
# the lr is written for 8 GPUs x 2 images: scale it to the real batch
custom_hooks = [dict(type='ScaleLRHook', base_batch_size=16)]

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
