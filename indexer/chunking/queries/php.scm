; Definitions for chunking. Only a braced `namespace X { }` is a scope; the
; `namespace X;` statement form is a plain line.

(class_declaration name: (name) @name) @definition.class
(interface_declaration name: (name) @name) @definition.class
(trait_declaration name: (name) @name) @definition.class
(enum_declaration name: (name) @name) @definition.class
(namespace_definition name: (_) @name body: (compound_statement)) @definition.module
(function_definition name: (name) @name) @definition.function
(method_declaration name: (name) @name) @definition.method
