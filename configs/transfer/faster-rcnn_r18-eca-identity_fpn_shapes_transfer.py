# The transfer study's detector (tools/compare_attention.py --transfer): the
# demo's detector on the generated shapes, fine-tuned the way MMDetection
# fine-tunes from ImageNet weights, from a ResNet-18 pretrained without
# attention (the study writes it and sets init_cfg). Boxes only, and a
# ResNet with BatchNorm as pretrained, frozen as MMDetection's configs freeze
# it (stem and stage 1, running statistics). ECA is inserted starting as the
# identity; the study's other variants change only that.
_base_ = '../demo/mask_rcnn_ecanet18_fpn_shapes_demo.py'

model = dict(
    backbone=dict(
        eca_identity_init=True,
        norm_cfg=dict(_delete_=True, type='BN', requires_grad=True),
        norm_eval=True,
        frozen_stages=1),
    roi_head=dict(mask_roi_extractor=None, mask_head=None))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=(128, 128), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(metric='bbox')
test_evaluator = val_evaluator
# the loss curve of the first iterations is the study's point
default_hooks = dict(logger=dict(interval=5))
