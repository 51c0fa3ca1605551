; Definitions for chunking. A top-level `def` is a function; inside a class or
; module it is a method (the chunker decides from the enclosing scope).

(class name: [(constant) (scope_resolution)] @name) @definition.class
(module name: [(constant) (scope_resolution)] @name) @definition.module
(method name: (_) @name) @definition.method
(singleton_method name: (_) @name) @definition.method
