# RTMDet-tiny with ECA (../rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py) on the
# demo's generated shapes (tools/demo.py writes them to data/demo_shapes/),
# from scratch, in minutes on a CPU. Only what a small dataset of 128x128
# images, no pretrained weights and a short run require differs from the
# parent config: the data, a plain augmentation (RTMDet's mosaic and mix-up
# build 640 px canvases from caches of COCO images), the class count, the
# optimizer's lr and the schedule. docs/add_eca.md has its results.
_base_ = '../rtmdet/rtmdet_tiny-eca_8xb32-300e_coco.py'

data_root = 'data/demo_shapes/'
classes = ('circle', 'rectangle', 'triangle')
image_size = (128, 128)
max_epochs = 2
train_batch_size = 8

model = dict(
    backbone=dict(init_cfg=None),  # no ImageNet weights offline
    bbox_head=dict(num_classes=len(classes)))

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='RandomResize',
        scale=image_size,
        ratio_range=(0.75, 1.25),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=image_size),
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape',
                   'scale_factor')),
]
# data in the training process: the pipeline is a small part of a step
train_dataloader = dict(
    batch_size=train_batch_size,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_train.json',
        data_prefix=dict(img='train/'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=0,
    persistent_workers=False,
    dataset=dict(
        data_root=data_root,
        metainfo=dict(classes=classes),
        ann_file='annotations/instances_val.json',
        data_prefix=dict(img='val/'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(ann_file=data_root + 'annotations/instances_val.json')
test_evaluator = val_evaluator

train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
# RTMDet's AdamW at the lr the demo's Mask R-CNN uses for 8 images from
# scratch (RTMDet's 0.004 is for 256); ScaleLRHook scales from this batch
optim_wrapper = dict(optimizer=dict(lr=1e-3))
auto_scale_lr = dict(enable=False, base_batch_size=train_batch_size)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0,
         end=100),
    dict(
        type='CosineAnnealingLR',
        T_max=max_epochs,
        eta_min_ratio=0.01,
        begin=0,
        end=max_epochs,
        by_epoch=True,
        convert_to_iter_based=True),
]
default_hooks = dict(
    logger=dict(interval=50),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
randomness = dict(seed=0)
