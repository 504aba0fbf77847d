/**
 * Neural networks: layers (`L`), models, optimizers, datasets and the
 * loaders (DataLoader, SeqDataLoader), DeZero's
 * `layers`/`models` (with VGG16 and the ResNets)/`optimizers`/`datasets`/`transforms`/`dataloaders`.
 * `Layer` and `Dataset` are also exported on their own, as DeZero's package does.
 * @module
 */
export * as L from "./layers.ts";
export { Layer } from "./layer.ts";
export { type LayerOrFunction, MLP, type MLPOptions, Model, Sequential } from "./model.ts";
export { VGG16 } from "./vgg.ts";
export {
  BottleneckA,
  BottleneckB,
  BuildingBlock,
  ResNet,
  ResNet101,
  ResNet152,
  ResNet50,
} from "./resnet.ts";
export type { PretrainedOptions } from "./pretrained.ts";
export * as optimizers from "./optimizers.ts";
export * as datasets from "./datasets.ts";
export * as transforms from "./transforms.ts";
export { Dataset } from "./datasets.ts";
export { DataLoader, SeqDataLoader } from "./dataloader.ts";
