/**
 * `L`: every layer, DeZero's `dezero.layers`: the Layer base, Linear, the
 * convolution and normalization layers (layer.ts), and the layers for
 * sequences, RNN, LSTM and EmbedID (sequence.ts).
 * @module
 */
export * from "./layer.ts";
export * from "./sequence.ts";
