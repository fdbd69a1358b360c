/** How edge runtimes type a `.wasm` import: a compiled module. */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
