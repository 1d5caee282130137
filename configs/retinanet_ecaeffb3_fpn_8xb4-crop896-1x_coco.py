# RetinaNet with an ECA-EfficientNet-B3 backbone: MMDetection's own
# retinanet_effb3_fpn_8xb4-crop896-1x_coco with ECA in place of every SE
# (ECAEfficientNet) and mmdet_eca's runtime (checked runs, see
# _base_/eca_runtime.py).
_base_ = [
    'mmdet::efficientnet/retinanet_effb3_fpn_8xb4-crop896-1x_coco.py',
    './_base_/eca_runtime.py'
]
default_hooks = dict(checkpoint=dict(type='AtomicCheckpointHook'))
# MMDetection's lr 0.04 is for 8 GPUs x 4 images: ScaleLRHook reads that
# from the inherited auto_scale_lr.base_batch_size (32)

model = dict(
    backbone=dict(
        # arch b3, drop_path_rate, out_indices (3, 4, 5), SyncBN as there
        type='ECAEfficientNet',
        # MMDetection's OpenMMLab ImageNet EfficientNet-B3 (SE) converted
        # with tools/convert_eca_weights.py (see README): all but the SE
        # layers; the ECA layers start from their initialisation. The
        # unconverted file loads too, with prefix='backbone'.
        init_cfg=dict(
            _delete_=True,
            type='Pretrained',
            checkpoint='checkpoints/efficientnet-b3_eca_mmdet.pth')))
