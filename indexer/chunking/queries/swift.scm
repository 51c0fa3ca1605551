; Definitions for chunking. class/struct/enum/extension/actor are all
; `class_declaration`; `init` has no name node, so the keyword is the name.

(class_declaration name: [(type_identifier) (user_type)] @name) @definition.class
(protocol_declaration name: (type_identifier) @name) @definition.class
(function_declaration name: (simple_identifier) @name) @definition.function
(init_declaration "init" @name) @definition.method
