# Sourced by the recipes: RUNS and CACHE set, the ImageNet VGG16 weights fetched once, the cache of
# 224x224 crops (convert.dataset) and its frozen VGG16 features (convert.features) made or resumed.
W=$RUNS/weights/vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5
[ -f "$W" ] || python ../shared/tools/vgg16_imagenet_weights.py "$RUNS/weights"
python -m convert.dataset ../shared/data/train --cache "$CACHE"
python -m convert.features --cache "$CACHE" --weights "$W"
