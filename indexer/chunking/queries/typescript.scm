; Definitions for chunking (TypeScript and TSX share this grammar's node names).
; `export` statements and `const f = () => {}` wrap the definition they name.

(class_declaration name: (_) @name) @definition.class
(abstract_class_declaration name: (_) @name) @definition.class
(interface_declaration name: (_) @name) @definition.class
(enum_declaration name: (_) @name) @definition.class
(internal_module name: (_) @name) @definition.module
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(method_definition name: (_) @name) @definition.method
(public_field_definition
  name: (_) @name
  value: [(arrow_function) (function_expression)]) @definition.method

(lexical_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function
(variable_declaration
  (variable_declarator
    name: (identifier) @name
    value: [(arrow_function) (function_expression) (generator_function)])) @definition.function

(export_statement declaration: (class_declaration name: (_) @name)) @definition.class
(export_statement declaration: (abstract_class_declaration name: (_) @name)) @definition.class
(export_statement declaration: (interface_declaration name: (_) @name)) @definition.class
(export_statement declaration: (enum_declaration name: (_) @name)) @definition.class
(export_statement declaration: (internal_module name: (_) @name)) @definition.module
(export_statement declaration: (function_declaration name: (identifier) @name)) @definition.function
(export_statement declaration: (generator_function_declaration name: (identifier) @name)) @definition.function
(export_statement
  declaration: (lexical_declaration
    (variable_declarator
      name: (identifier) @name
      value: [(arrow_function) (function_expression) (generator_function)]))) @definition.function
