/**
 * The few WebAssembly JS-API types the engine uses. The project compiles against lib ES2022 + @types/node,
 * neither of which declares the `WebAssembly` namespace (only lib.dom does), so it is declared here.
 */
declare global {
  namespace WebAssembly {
    interface MemoryDescriptor {
      initial: number;
      maximum?: number;
      shared?: boolean;
    }
    interface Memory {
      readonly buffer: ArrayBuffer | SharedArrayBuffer;
      grow(delta: number): number;
    }
    var Memory: {
      prototype: Memory;
      new (descriptor: MemoryDescriptor): Memory;
    };
    interface Module {}
    var Module: {
      prototype: Module;
      new (bytes: ArrayBufferView | ArrayBuffer): Module;
    };
    type ExportValue = unknown;
    type Exports = Record<string, ExportValue>;
    type Imports = Record<string, Record<string, unknown>>;
    interface Instance {
      readonly exports: Exports;
    }
    var Instance: {
      prototype: Instance;
      new (module: Module, importObject?: Imports): Instance;
    };
    function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
  }
}

export {};
