# RetinaNet with an ECA-ResNet-101 backbone: MMDetection's own
# retinanet_r101_fpn_1x_coco with the backbone swapped
# and the learning rate scaled to the batch actually used.
_base_ = 'mmdet::retinanet/retinanet_r101_fpn_1x_coco.py'
custom_imports = dict(imports=['mmdet_eca'], allow_failed_imports=False)
# the lr is written for 8 GPUs x 2 images: scale it to the real batch
custom_hooks = [dict(type='ScaleLRHook', base_batch_size=16)]

model = dict(
    backbone=dict(
        type='ECAResNet',
        depth=101,
        # the released ImageNet weights' kernel sizes (eca_resnet101_k3357)
        eca_kernel_sizes='3357',
        # converted with tools/convert_eca_weights.py (see README)
        init_cfg=dict(
            type='Pretrained',
            checkpoint='checkpoints/eca_resnet101_k3357_mmdet.pth')))
