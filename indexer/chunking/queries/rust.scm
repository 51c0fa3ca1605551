; Definitions for chunking. An `impl` block is a class named by its type, so
; methods inside `impl Display for Registry` are `Registry.fmt`.

(function_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.class
(enum_item name: (type_identifier) @name) @definition.class
(union_item name: (type_identifier) @name) @definition.class
(trait_item name: (type_identifier) @name) @definition.class
(impl_item type: (_) @name) @definition.class
(mod_item name: (identifier) @name body: (declaration_list)) @definition.module
(macro_definition name: (identifier) @name) @definition.function
